(function(){
"use strict";
var NS="http://www.w3.org/2000/svg";
var data=JSON.parse(document.getElementById("qhub-data").textContent);
var COLORS=["#3b6fd4","#e0823d","#3aa675","#c94f6d","#8a63c9","#5fb3c4","#b59b2f","#7d8491","#d65db1","#4c9a2a","#a15c38","#2f4b7c"];
function el(name,attrs,text){var n=document.createElementNS(NS,name);for(var k in attrs){n.setAttribute(k,String(attrs[k]));}if(text!==undefined){n.textContent=String(text);}return n;}
function svg(host,w,h,label){var s=el("svg",{viewBox:"0 0 "+w+" "+h,role:"img","aria-label":label||""});host.appendChild(s);return s;}
function fmt(ms){return ms>=1000?(ms/1000).toFixed(2)+" s":ms>=1?ms.toFixed(1)+" ms":(ms*1000).toFixed(0)+" \u00b5s";}
function empty(id,msg){var p=document.createElement("p");p.className="empty";p.textContent=msg;document.getElementById(id).appendChild(p);}

/* ---- tables: click a header to sort, type in the box above to filter ---- */
function sortBy(table,th){
  var idx=Array.prototype.indexOf.call(th.parentNode.children,th),num=th.getAttribute("data-type")==="num";
  var dir=th.getAttribute("aria-sort")==="descending"?"ascending":(th.getAttribute("aria-sort")==="ascending"?"descending":(num?"descending":"ascending"));
  Array.prototype.forEach.call(th.parentNode.children,function(o){o.setAttribute("aria-sort","none");});
  th.setAttribute("aria-sort",dir);
  var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows),sign=dir==="ascending"?1:-1;
  rows.sort(function(a,b){var x=a.cells[idx].getAttribute("data-v"),y=b.cells[idx].getAttribute("data-v");
    if(num){x=parseFloat(x);y=parseFloat(y);x=isNaN(x)?-Infinity:x;y=isNaN(y)?-Infinity:y;return (x-y)*sign;}
    return x<y?-sign:x>y?sign:0;});
  rows.forEach(function(r){body.appendChild(r);});
}
function filterRows(input){
  var table=document.getElementById(input.getAttribute("data-table")),q=input.value.trim().toLowerCase(),shown=0,all=0;
  Array.prototype.forEach.call(table.tBodies[0].rows,function(r){all++;var hit=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.hidden=!hit;if(hit){shown++;}});
  var note=document.querySelector(".shown[data-for='"+table.id+"']");if(note){note.textContent=q?shown+" of "+all+" rows":"";}
}
Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){
    th.addEventListener("click",function(){sortBy(table,th);});
    th.addEventListener("keydown",function(ev){if(ev.key==="Enter"||ev.key===" "){ev.preventDefault();sortBy(table,th);}});
  });
});
Array.prototype.forEach.call(document.querySelectorAll("input.filter"),function(input){
  input.addEventListener("input",function(){filterRows(input);});
});

/* ---- axes with round ticks ---- */
function niceStep(range,count){var raw=range/Math.max(1,count),mag=Math.pow(10,Math.floor(Math.log10(raw))),f=raw/mag;
  return (f<=1?1:f<=2?2:f<=5?5:10)*mag;}
function ticks(lo,hi,count){if(hi<=lo){hi=lo+1;}var step=niceStep(hi-lo,count),start=Math.floor(lo/step),out=[];
  for(var i=start;;i++){var v=i*step;out.push(v);if(v>=hi-step*1e-9||out.length>50){break;}}  /* the last tick is at or above every value */
  return {ticks:out,lo:out[0],hi:out[out.length-1],step:step};}
function tickText(v,step){var d=step>=1?0:Math.min(6,Math.ceil(-Math.log10(step)));return v.toFixed(d);}
function legend(host,series){var ul=document.createElement("ul");ul.className="legend";
  series.forEach(function(s,k){var li=document.createElement("li"),sw=document.createElement("span");sw.className="sw";sw.style.background=s.color||COLORS[k%COLORS.length];li.appendChild(sw);li.appendChild(document.createTextNode(s.name));ul.appendChild(li);});
  host.appendChild(ul);}

/* a line chart: x is numeric (or a run index with labels), y starts at zero */
function lineChart(id,series,o){
  var host=document.getElementById(id);host.textContent="";
  var all=[];series.forEach(function(s){s.points.forEach(function(p){if(p[1]!==null){all.push(p);}});});
  if(!all.length){empty(id,o.empty);return;}
  if(series.length>1||o.legend){legend(host,series);}
  var w=960,h=300,l=70,r=20,t=12,b=o.xlabels?70:48;
  var xs=all.map(function(p){return p[0];}),ys=all.map(function(p){return p[1];});
  var x0=Math.min.apply(null,xs),x1=Math.max.apply(null,xs);if(x1===x0){x0-=0.5;x1+=0.5;}
  var yt=ticks(0,Math.max.apply(null,ys)*1.05||1,5);
  var xt=o.xlabels?null:ticks(x0,x1,8);if(xt){x0=xt.lo;x1=xt.hi;}
  function X(v){return l+(w-l-r)*(v-x0)/(x1-x0);}function Y(v){return h-b-(h-t-b)*(v-yt.lo)/(yt.hi-yt.lo);}
  var s=svg(host,w,h,o.title);
  yt.ticks.forEach(function(v){var y=Y(v);s.appendChild(el("line",{x1:l,x2:w-r,y1:y,y2:y,"class":"grid"}));
    s.appendChild(el("text",{x:l-6,y:y+4,"text-anchor":"end","class":"ytick"},tickText(v,yt.step)));});
  s.appendChild(el("line",{x1:l,x2:l,y1:t,y2:h-b,"class":"axis"}));s.appendChild(el("line",{x1:l,x2:w-r,y1:h-b,y2:h-b,"class":"axis"}));
  if(o.xlabels){var every=Math.max(1,Math.ceil(o.xlabels.length/10));
    o.xlabels.forEach(function(lab,i){if(i%every&&i!==o.xlabels.length-1){return;}var x=X(i);
      s.appendChild(el("line",{x1:x,x2:x,y1:h-b,y2:h-b+4,"class":"axis"}));
      var anchor=o.xlabels.length>1&&i===0?"start":(o.xlabels.length>1&&i===o.xlabels.length-1?"end":"middle");  /* edge labels stay inside */
      var tx=el("text",{x:x,y:h-b+16,"text-anchor":anchor});tx.appendChild(el("tspan",{x:x,dy:0},lab[0]));
      if(lab[1]){tx.appendChild(el("tspan",{x:x,dy:13},lab[1]));}s.appendChild(tx);});}
  else{xt.ticks.forEach(function(v){var x=X(v);s.appendChild(el("line",{x1:x,x2:x,y1:h-b,y2:h-b+4,"class":"axis"}));
      s.appendChild(el("text",{x:x,y:h-b+16,"text-anchor":"middle"},tickText(v,xt.step)));});}
  s.appendChild(el("text",{x:(l+w-r)/2,y:h-8,"text-anchor":"middle","class":"axis-title"},o.xtitle));
  s.appendChild(el("text",{x:14,y:(t+h-b)/2,"text-anchor":"middle","class":"axis-title",transform:"rotate(-90 14 "+(t+h-b)/2+")"},o.ytitle));
  series.forEach(function(sr,k){var c=sr.color||COLORS[k%COLORS.length],d="",pen=false;
    sr.points.forEach(function(p){if(p[1]===null){pen=false;return;}d+=(pen?"L":"M")+X(p[0]).toFixed(1)+" "+Y(p[1]).toFixed(1)+" ";pen=true;});
    s.appendChild(el("path",{d:d,fill:"none",stroke:c,"stroke-width":2,"class":"series"}));
    if(sr.points.length<=60){sr.points.forEach(function(p,i){if(p[1]===null){return;}var dot=el("circle",{cx:X(p[0]),cy:Y(p[1]),r:2.5,fill:c});
      dot.appendChild(el("title",{},(sr.titles?sr.titles[i]+": ":"")+o.yfmt(p[1])));s.appendChild(dot);});}
    (sr.marks||[]).forEach(function(m){var p=sr.points[m.i];if(!p||p[1]===null){return;}
      var mk=el("circle",{cx:X(p[0]),cy:Y(p[1]),r:m.kind==="baseline"?6:5,fill:m.kind==="baseline"?"#fff":c,stroke:m.kind==="baseline"?"#c0392b":"#1d2330","stroke-width":2});
      mk.appendChild(el("title",{},m.kind+": "+m.title));s.appendChild(mk);});});
  if(o.note){var p=document.createElement("p");p.className="loc";p.textContent=o.note;host.appendChild(p);}
}

function bars(id,rows,label){
  var host=document.getElementById(id);
  if(!rows.length){empty(id,"No data.");return;}
  var w=960,rh=22,left=360,h=rows.length*rh+24,max=0;rows.forEach(function(r){max=Math.max(max,r.ms);});
  var s=svg(host,w,h,id);
  rows.forEach(function(r,i){var y=i*rh+4,bw=max?(w-left-110)*r.ms/max:0;
    s.appendChild(el("text",{x:left-8,y:y+14,"text-anchor":"end"},r.label));
    var b=el("rect",{x:left,y:y+2,width:Math.max(1,bw),height:rh-6,fill:COLORS[i%COLORS.length],rx:2});
    b.appendChild(el("title",{},r.label+": "+fmt(r.ms)+(r.count!==undefined?" ("+r.count+" calls)":"")));s.appendChild(b);
    s.appendChild(el("text",{x:left+bw+6,y:y+14},fmt(r.ms)+(label&&r.count!==undefined?" \u00d7"+r.count:"")));});
}
function distributions(id,rows){
  var host=document.getElementById(id);
  if(!rows.length){empty(id,"No step samples.");return;}
  var w=960,rh=34,left=360,right=20,h=rows.length*rh+44,lo=Infinity,hi=0;
  rows.forEach(function(r){lo=Math.min(lo,Math.max(r.q[0],0.001));hi=Math.max(hi,r.q[5]);});
  if(hi<=lo){hi=lo*10;}
  var l0=Math.floor(Math.log10(lo)),l1=Math.ceil(Math.log10(hi));if(l1<=l0){l1=l0+1;}
  var floor=Math.pow(10,l0);
  function x(v){return left+(w-left-right)*(Math.log10(Math.max(v,floor))-l0)/(l1-l0);}
  var s=svg(host,w,h,"distributions");
  for(var d=l0;d<=l1;d++){var gx=x(Math.pow(10,d));
    s.appendChild(el("line",{x1:gx,x2:gx,y1:0,y2:h-34,"class":"grid"}));
    s.appendChild(el("text",{x:gx,y:h-22,"text-anchor":d===l1?"end":"middle"},fmt(Math.pow(10,d))));}
  s.appendChild(el("text",{x:(left+w-right)/2,y:h-6,"text-anchor":"middle","class":"axis-title"},"step duration (log scale)"));
  rows.forEach(function(r,i){var y=i*rh+6,c=COLORS[i%COLORS.length],q=r.q;
    s.appendChild(el("text",{x:left-8,y:y+16,"text-anchor":"end"},r.label));
    s.appendChild(el("line",{x1:x(q[0]),x2:x(q[5]),y1:y+12,y2:y+12,stroke:c}));
    var box=el("rect",{x:x(q[1]),y:y+4,width:Math.max(1,x(q[3])-x(q[1])),height:16,fill:c,"fill-opacity":0.25,stroke:c});
    box.appendChild(el("title",{},"p25 "+fmt(q[1])+", p50 "+fmt(q[2])+", p75 "+fmt(q[3])+", p95 "+fmt(q[4])+", max "+fmt(q[5])));s.appendChild(box);
    s.appendChild(el("line",{x1:x(q[2]),x2:x(q[2]),y1:y+2,y2:y+22,stroke:c,"stroke-width":2}));
    s.appendChild(el("line",{x1:x(q[4]),x2:x(q[4]),y1:y+6,y2:y+18,stroke:c,"stroke-dasharray":"2,2"}));
    r.dots.forEach(function(v,j){s.appendChild(el("circle",{cx:x(v),cy:y+12+((j*7)%11)-5,r:1.5,fill:c,"fill-opacity":0.5}));});});
}

bars("chart-attribution",data.attribution,false);
bars("chart-steps",data.bars,true);
distributions("chart-distribution",data.distributions);

var labels=data.trend.map(function(t){return [t.when,t.commit];});
var titles=data.trend.map(function(t){return t.when+" "+t.commit+" ("+t.status+")";});
var marks=[];data.trend.forEach(function(t,i){if(t.baseline){marks.push({i:i,kind:"baseline",title:titles[i]});}if(t.current){marks.push({i:i,kind:"this run",title:titles[i]});}});
lineChart("chart-trend",[{name:"wall time",points:data.trend.map(function(t,i){return [i,t.wall];}),marks:marks,titles:titles},
  {name:"step bodies",points:data.trend.map(function(t,i){return [i,t.steps];}),titles:titles}],
  {xlabels:labels,xtitle:"run (finished, commit), oldest \u2192 newest",ytitle:"seconds",empty:"No history yet.",title:"trend",yfmt:function(v){return v.toFixed(2)+" s";},
   note:marks.length?"Open circle: baseline run; filled dark ring: this run.":""});

var pick=document.getElementById("item-pick");
function showItem(){var item=data.items[pick.selectedIndex];if(!item){empty("chart-item","No step definitions.");return;}
  lineChart("chart-item",[{name:item.label,points:item.values.map(function(v,i){return [i,v];}),titles:titles}],
    {xlabels:labels,xtitle:"run (finished, commit), oldest \u2192 newest",ytitle:"median ms",legend:true,empty:"No earlier runs of this step definition.",title:"item trend",yfmt:function(v){return v.toFixed(2)+" ms";}});}
data.items.forEach(function(item){var opt=document.createElement("option");opt.textContent=item.label;pick.appendChild(opt);});
pick.addEventListener("change",showItem);showItem();

var mem=[];Object.keys(data.memory).forEach(function(k){mem.push({name:"RSS "+k,points:data.memory[k]});});
lineChart("chart-memory",mem,{xtitle:"seconds since process start",ytitle:"resident memory (MB)",legend:true,empty:"Memory sampling was off.",title:"memory",
  yfmt:function(v){return v.toFixed(1)+" MB";},note:"The memory axis starts at 0 MB."+(data.memory_more?" "+data.memory_more+" more series in the JSON report.":"")});
if(data.stress){
  var st=data.stress,ms=function(v){return v.toFixed(2)+" ms";};
  lineChart("chart-stress-latency",["p50","p95","p99"].map(function(k){return {name:k,points:st.latency[k]};}),
    {xtitle:"seconds since the load started",ytitle:"latency (ms)",legend:true,empty:"No request completed.",title:"stress latency over time",yfmt:ms,note:st.note});
  lineChart("chart-stress-errors",Object.keys(st.errors).map(function(k){return {name:k,points:st.errors[k]};}),
    {xtitle:"seconds since the load started",ytitle:"failed requests per interval",legend:true,empty:"No failed request.",title:"stress errors over time",yfmt:function(v){return v.toFixed(0);},note:st.note});
}
document.body.setAttribute("data-charts","ready");
})();
